/** One provider.region for every provider: the table pairing each AWS region with Azure's and Google's of the same area. */
import { expect } from 'chai'
import { REGIONS as GOOGLE_REGIONS } from 'serverless-polycloud/providers/google/plan'
import { mappedRegionNote, REGION_AREAS, regionFor } from 'serverless-polycloud/regions'

describe('serverless/regions', () => {
  it('pairs regions that exist: Google names from the Cloud Run functions list, Azure and AWS names of their forms, each once', () => {
    for (const area of REGION_AREAS) {
      expect(GOOGLE_REGIONS, area.area).to.include(area.google)
      expect(area.azure, area.area).to.match(/^[a-z]+[a-z0-9]*$/)
      expect(area.aws, area.area).to.match(/^[a-z]{2}(-gov)?-[a-z]+-\d$/)
    }
    for (const provider of ['aws', 'azure', 'google'] as const) {
      const names = REGION_AREAS.map((area) => area[provider])
      expect(new Set(names).size, provider).to.equal(names.length)
    }
  })

  it("reads a provider's own region as it is, another's as the region of the same area, and nothing else", () => {
    const google = (name: string) => GOOGLE_REGIONS.includes(name)
    expect(regionFor('google', 'europe-west4', google)).to.deep.equal({ region: 'europe-west4' })
    expect(regionFor('google', 'eu-west-1', google)).to.deep.equal({ region: 'europe-west1', from: 'aws' })
    expect(regionFor('google', 'westeurope', google)).to.deep.equal({ region: 'europe-west1', from: 'azure' })
    expect(regionFor('azure', 'us-east-1', () => false)).to.deep.equal({ region: 'eastus', from: 'aws' })
    expect(regionFor('aws', 'asia-northeast1', () => false)).to.deep.equal({ region: 'ap-northeast-1', from: 'google' })
    expect(regionFor('google', 'mars-north-1', google)).to.equal(undefined)
    expect(mappedRegionNote('azure', 'eu-west-1', { region: 'westeurope', from: 'aws' })).to.equal('provider.region eu-west-1 is an AWS region: Azure uses westeurope, its region of the same area (Western Europe)')
    expect(mappedRegionNote('aws', 'europe-west1', { region: 'eu-west-1', from: 'google' })).to.equal('provider.region europe-west1 is a Google Cloud region: AWS uses eu-west-1, its region of the same area (Western Europe)')
  })
})
